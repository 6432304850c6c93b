// Serve kinesalite (in memory) on 127.0.0.1 only: its own CLI listens on every interface.
// Usage: node bench/kinesalite_server.js PORT
'use strict'

const kinesalite = require('kinesalite')

const port = Number(process.argv[2] || 4567)
const server = kinesalite({
  createStreamMs: 0,
  deleteStreamMs: 0,
  updateStreamMs: 0,
  shardLimit: 100000,
})
server.listen(port, '127.0.0.1', () => {
  console.log(`kinesalite listening on 127.0.0.1:${port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
