// One MCP session with the official SDK client over stdio, calling tools in order, each after the
// last answered, as an agent does; prints every message exchanged as one JSON array.
//   node mcp_session.mjs <orch-binary> '[["diagnose",{}],["heal",{"dry_run":true}]]'
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [orch, steps] = process.argv.slice(2);
const wire = [];
const transport = new StdioClientTransport({ command: orch, args: ["mcp"], env: { ...process.env }, stderr: "ignore" });
const send = transport.send.bind(transport);
transport.send = async (m, o) => { wire.push({ from: "client", message: m }); return send(m, o); };
const client = new Client({ name: "claude-code", version: "2.0.0" });
let error = null;
try {
  await client.connect(transport);
  const onmessage = transport.onmessage;
  transport.onmessage = (m, extra) => { wire.push({ from: "orch", message: m }); onmessage(m, extra); };
  for (const [name, args] of JSON.parse(steps)) await client.callTool({ name, arguments: args });
} catch (e) {
  error = String(e?.stack ?? e);
} finally {
  await client.close().catch(() => {});
}
console.log(JSON.stringify({ error, wire }));
