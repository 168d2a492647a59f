// Drives orch's MCP server with the official TypeScript SDK client and prints one JSON summary.
//   node mcp_client.mjs stdio <orch-binary> [--read-only]
//   node mcp_client.mjs http <http://127.0.0.1:PORT> <token> <webhook-secret>
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [mode, target, ...rest] = process.argv.slice(2);
const summary = { mode };
const client = new Client({ name: "orch-test", version: "1.0.0" });
let transport;
if (mode === "stdio") {
  transport = new StdioClientTransport({ command: target, args: ["mcp", ...rest], env: { ...process.env }, stderr: "ignore" });
} else {
  const [token] = rest;
  transport = new StreamableHTTPClientTransport(new URL(target + "/mcp"), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
}
const updates = [];
client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params.uri));

try {
  await client.connect(transport);
  summary.server = client.getServerVersion();
  summary.protocol = transport.protocolVersion ?? null;
  const tools = await client.listTools();
  summary.tools = tools.tools.map((t) => t.name);
  summary.annotations = Object.fromEntries(tools.tools.map((t) => [t.name, t.annotations]));
  summary.hasOutputSchema = tools.tools.every((t) => !!t.outputSchema);

  const diag = await client.callTool({ name: "diagnose", arguments: {} });
  summary.diagnose = { isError: diag.isError, status: diag.structuredContent?.status, exit_code: diag.structuredContent?.exit_code,
    compactText: !diag.content?.[0]?.text?.includes("\n") };
  summary.schemas = Object.fromEntries(tools.tools.map((t) => [t.name, t.inputSchema]));

  // Argument mistakes are tool results the model can read; an unknown tool is a protocol error.
  const badArgs = await client.callTool({ name: "container_logs", arguments: { container: "x", tail: "x" } });
  summary.argumentError = { isError: badArgs.isError, text: badArgs.content?.[0]?.text };
  const missing = await client.callTool({ name: "container_logs", arguments: {} });
  summary.missingArgument = { isError: missing.isError, text: missing.content?.[0]?.text };
  try {
    await client.callTool({ name: "no_such_tool", arguments: {} });
    summary.unknownTool = "no error";
  } catch (e) {
    summary.unknownTool = e.code;
  }
  // Dry runs change nothing, so read-only mode lets them through (Docker may be unreachable).
  const dryHeal = await client.callTool({ name: "heal", arguments: { dry_run: true } });
  const dryRollback = await client.callTool({ name: "rollback", arguments: { service: "web", dry_run: true } });
  summary.dryRuns = [dryHeal, dryRollback].map((r) => ({ isError: r.isError, text: r.content?.[0]?.text }));

  const restart = await client.callTool({ name: "restart_container", arguments: { container: "nope" } });
  summary.restart = { isError: restart.isError, text: restart.content?.[0]?.text };

  const resources = await client.listResources();
  summary.resources = resources.resources.map((r) => r.uri);
  const read = await client.readResource({ uri: "orch://events/recent" });
  summary.readOk = Array.isArray(JSON.parse(read.contents[0].text));
  const status = await client.readResource({ uri: "orch://status" });
  summary.statusKeys = Object.keys(JSON.parse(status.contents[0].text));
  try {
    await client.readResource({ uri: "orch://nope" });
    summary.unknownResource = "no error";
  } catch (e) {
    summary.unknownResource = { code: e.code, data: e.data ?? null };
  }

  await client.subscribeResource({ uri: "orch://events/recent" });
  if (mode === "http") {
    const secret = rest[1];
    const body = JSON.stringify({ modelName: "page", operation: "publish",
      newValue: { id: "mcp-" + Date.now(), name: "x", lastUpdated: Date.now(), data: { url: "/x" } } });
    const res = await fetch(target + "/webhook/builder", { method: "POST", body,
      headers: { "Content-Type": "application/json", "x-builder-secret": secret } });
    summary.webhookStatus = res.status;
  } else {
    // A tool that publishes on the in-process bus: a sync test that cannot reach orch fails fast.
    await client.callTool({ name: "sync_test", arguments: { timeout: "1s" } });
  }
  // Read-only servers refuse sync_test, so a stdio --read-only run has nothing to wait for.
  const deadline = Date.now() + (rest.includes("--read-only") ? 0 : 10000);
  while (updates.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  summary.updates = updates;

  const events = await client.callTool({ name: "recent_events", arguments: { count: 5 } });
  summary.recentEvents = events.structuredContent?.events?.length ?? -1;
  summary.ok = true;
} catch (e) {
  summary.ok = false;
  summary.error = String(e?.stack ?? e);
} finally {
  await client.close().catch(() => {});
}
console.log(JSON.stringify(summary));
