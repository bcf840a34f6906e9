/**
 * The storage benchmark's raw baseline server (child process of scripts/bench/storage.ts): plain Node HTTP on
 * 127.0.0.1, `PUT /file` streams the body into one file on the same disk as the workers' data and fsyncs it
 * before answering (the durability an upload ack promises), `GET /file` streams it back. Prints its port.
 */
import fs from "node:fs";
import http from "node:http";
import { pipeline } from "node:stream/promises";

const file = process.argv[2];
const server = http.createServer((req, res) => {
  void (async () => {
    try {
      if (req.method === "PUT") {
        const out = fs.createWriteStream(file, { highWaterMark: 1 << 20 });
        await pipeline(req, out);
        const fd = await fs.promises.open(file, "r+");
        await fd.sync();
        await fd.close();
        res.writeHead(201).end("{}");
      } else if (req.method === "GET") {
        const { size } = await fs.promises.stat(file);
        res.writeHead(200, { "content-length": size, "content-type": "application/octet-stream" });
        await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), res);
      } else res.writeHead(405).end();
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  })();
});
server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof addr === "object" && addr ? addr.port : 0 })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
