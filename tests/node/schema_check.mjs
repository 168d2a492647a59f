// Checks orch's tool schemas as JSON Schema 2020-12 (MCP 2025-11-25's default dialect) with Ajv's
// 2020 validator in strict mode, and the results of real calls against their output schemas.
// Prints one JSON summary: {"tools":N,"problems":[...],"checked":[...]}.
//   node schema_check.mjs <orch-binary>
import Ajv2020 from "ajv/dist/2020.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [orch] = process.argv.slice(2);
const ajv = new Ajv2020({ strict: true, allErrors: true });
const problems = [];
const checked = [];
const client = new Client({ name: "schema-check", version: "1.0.0" });
const transport = new StdioClientTransport({ command: orch, args: ["mcp"], env: { ...process.env }, stderr: "ignore" });
try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  const validators = {};
  for (const t of tools) {
    for (const [kind, schema] of [["inputSchema", t.inputSchema], ["outputSchema", t.outputSchema]]) {
      if (!schema) {
        problems.push(`${t.name}: no ${kind}`);
        continue;
      }
      try {
        validators[`${t.name}.${kind}`] = ajv.compile(schema);
      } catch (e) {
        problems.push(`${t.name}.${kind}: ${e.message}`);
        continue;
      }
      // Every default and example must be valid for the property it belongs to.
      for (const [prop, sub] of Object.entries(schema.properties ?? {})) {
        const v = ajv.compile(sub);
        for (const value of [..."default" in sub ? [sub.default] : [], ...(sub.examples ?? [])])
          if (!v(value)) problems.push(`${t.name}.${kind}.${prop}: ${JSON.stringify(value)} does not fit: ${ajv.errorsText(v.errors)}`);
      }
    }
  }
  // Real results against their output schemas (the tools that need no service to answer).
  for (const [name, args] of [["diagnose", {}], ["recent_events", { count: 5 }]]) {
    const r = await client.callTool({ name, arguments: args });
    const v = validators[`${name}.outputSchema`];
    if (r.isError) problems.push(`${name}: ${JSON.stringify(r.content)}`);
    else if (v && !v(r.structuredContent)) problems.push(`${name} result: ${ajv.errorsText(v.errors)}`);
    else checked.push(name);
  }
  console.log(JSON.stringify({ tools: tools.length, problems, checked }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.message ?? e), problems, checked }));
} finally {
  await client.close().catch(() => {});
}
