// The JavaScript peer of the benchmarks: nodemailer (npm) under Node.js sending the mail on
// standard input, as a Node program would. scripts/bench.sh installs nodemailer into its
// scratch directory and runs this file from there.
//
// Usage: node bench_nodemailer.mjs HOST PORT CA|- RCPT…
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";

const [host, port, ca, ...to] = process.argv.slice(2);
const transport = nodemailer.createTransport({
  host,
  port: Number(port),
  secure: false,
  ignoreTLS: ca === "-",
  requireTLS: ca !== "-",
  tls: ca === "-" ? undefined : { ca: readFileSync(ca), servername: "localhost" },
});
await transport.sendMail({ envelope: { from: "bench@example.org", to }, raw: process.stdin });
transport.close();
