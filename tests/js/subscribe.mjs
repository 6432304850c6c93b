// Subscribe to one shard with the AWS SDK for JavaScript v3 (HTTP/2 event stream) and print
// one JSON line per event: {"t": receive time in ms, "records": [[data, seq]], "cont": ..., "child": [...]}.
// The first line is {"ready": true} once the subscription is open; a failure prints
// {"error": name, "message": ...} and exits with status 2.
// Usage: node subscribe.mjs ENDPOINT CONSUMER_ARN SHARD_ID START_TYPE [SEQUENCE] [MAX_RECORDS]
// It stops after MAX_RECORDS records (0: no limit) or at the shard's end (ChildShards).
import { KinesisClient, SubscribeToShardCommand } from "@aws-sdk/client-kinesis";

const [endpoint, consumerARN, shardId, startType, sequence, maxRecords] = process.argv.slice(2);
const client = new KinesisClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDJS", secretAccessKey: "secret" },
});
const start = { Type: startType };
if (sequence) start.SequenceNumber = sequence;
const limit = Number(maxRecords || "0");
const deadline = setTimeout(() => {
  console.error("timeout");
  process.exit(3);
}, 60000);

try {
  const response = await client.send(
    new SubscribeToShardCommand({ ConsumerARN: consumerARN, ShardId: shardId, StartingPosition: start }),
  );
  console.log(JSON.stringify({ ready: true }));
  let seen = 0;
  for await (const event of response.EventStream) {
    const body = event.SubscribeToShardEvent;
    if (!body) continue;
    const records = body.Records.map((r) => [Buffer.from(r.Data).toString(), r.SequenceNumber]);
    seen += records.length;
    console.log(JSON.stringify({
      t: Date.now(),
      records,
      cont: body.ContinuationSequenceNumber,
      behind: body.MillisBehindLatest,
      child: (body.ChildShards || []).map((c) => c.ShardId),
    }));
    if (body.ChildShards && body.ChildShards.length) break;
    if (limit && seen >= limit) break;
  }
} catch (error) {
  console.log(JSON.stringify({ error: error.name, message: error.message }));
  clearTimeout(deadline);
  client.destroy();
  process.exit(2);
}
clearTimeout(deadline);
client.destroy();
// Leaving the loop does not end the HTTP/2 event stream (a subscription lasts up to 5 minutes,
// on AWS as here) and destroy() waits for it, so exit explicitly.
process.exit(0);
