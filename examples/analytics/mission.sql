-- The mission's cross-stream example (one stream per source): IoT readings enriched with the
-- machine metadata of PostgreSQL CDC events (an event-time temporal join: each reading meets
-- the version of its machine valid at the reading's time), aggregated per site, and windowed
-- counts of social posts per platform; both written to one output stream.
--
-- Feeds: `headwater simulate iot --stream iot-stream`, `headwater simulate social --stream
-- social-stream`, and `headwater cdc` capturing a table public.machines (machine_id, model,
-- site) into db-stream. Then:
--
--   headwater analytics run examples/analytics/mission.sql --endpoint-url http://127.0.0.1:4567

CREATE TABLE readings (
  machine_id STRING,
  temperature DOUBLE,
  vibration DOUBLE,
  rpm BIGINT,
  failing BOOLEAN,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'headwater', 'stream' = 'iot-stream', 'format' = 'json',
        'start' = 'TRIM_HORIZON');

-- `headwater cdc` writes AWS DMS records: {"data": {...row...}, "metadata": {...}}
CREATE TABLE machines (
  data ROW<machine_id STRING, model STRING, site STRING>,
  metadata ROW<"timestamp" STRING, operation STRING>,
  machine_id AS data.machine_id,
  model AS data.model,
  site AS data.site,
  operation AS metadata.operation,
  changed_at AS CAST(metadata."timestamp" AS TIMESTAMP(3)),
  PRIMARY KEY (machine_id) NOT ENFORCED,
  WATERMARK FOR changed_at AS changed_at
) WITH ('connector' = 'headwater', 'stream' = 'db-stream', 'format' = 'json',
        'start' = 'TRIM_HORIZON',
        -- metadata changes rarely: a quiet CDC stream must not hold the watermark back
        'watermark.idle-timeout' = '1 s');

CREATE TABLE posts (
  post_id STRING,
  platform STRING,
  user_id STRING,
  sentiment DOUBLE,
  likes BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'headwater', 'stream' = 'social-stream', 'format' = 'json');

CREATE TABLE site_temperature (
  kind STRING, site STRING, model STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3),
  readings BIGINT, machines BIGINT, avg_temperature DOUBLE, max_vibration DOUBLE, failing BIGINT
) WITH ('connector' = 'headwater', 'stream' = 'insights', 'partition-key' = 'site');

CREATE TABLE platform_posts (
  kind STRING, platform STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3),
  posts BIGINT, authors BIGINT, avg_sentiment DOUBLE, p90_likes DOUBLE
) WITH ('connector' = 'headwater', 'stream' = 'insights', 'partition-key' = 'platform');

CREATE VIEW enriched AS
SELECT r.machine_id, r.temperature, r.vibration, r.failing, r.ts, m.model, m.site
FROM readings AS r
JOIN machines FOR SYSTEM_TIME AS OF r.ts AS m ON r.machine_id = m.machine_id
WHERE m.operation <> 'delete';

INSERT INTO site_temperature
SELECT 'site_temperature', site, model, window_start, window_end,
       COUNT(*), COUNT(DISTINCT machine_id), ROUND(AVG(temperature), 3), MAX(vibration),
       SUM(CASE WHEN failing THEN 1 ELSE 0 END)
FROM TABLE(TUMBLE(TABLE enriched, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY site, model, window_start, window_end;

INSERT INTO platform_posts
SELECT 'platform_posts', platform, window_start, window_end,
       COUNT(*), COUNT(DISTINCT user_id), ROUND(AVG(sentiment), 4),
       APPROX_PERCENTILE(likes, 0.9)
FROM TABLE(TUMBLE(TABLE posts, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY platform, window_start, window_end;
