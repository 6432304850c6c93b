-- The single-stream topology (`headwater topology single`): every source writes to one
-- stream and tags its records with `source_type`. Views route each type to its own query.

CREATE TABLE events (
  source_type STRING,
  machine_id STRING,
  temperature DOUBLE,
  platform STRING,
  sentiment DOUBLE,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'headwater', 'stream' = 'hw-events', 'format' = 'json');

CREATE TABLE per_type (
  source_type STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), events BIGINT
) WITH ('connector' = 'headwater', 'stream' = 'hw-insights', 'partition-key' = 'source_type');

CREATE TABLE hot_machines (machine_id STRING, temperature DOUBLE, ts TIMESTAMP(3))
  WITH ('connector' = 'headwater', 'stream' = 'hw-alerts', 'partition-key' = 'machine_id');

CREATE VIEW iot AS SELECT machine_id, temperature, ts FROM events WHERE source_type = 'iot';

INSERT INTO per_type
SELECT source_type, window_start, window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY source_type, window_start, window_end;

-- per record, no state: emitted as soon as read
INSERT INTO hot_machines
SELECT machine_id, temperature, ts FROM iot WHERE temperature > 70;
