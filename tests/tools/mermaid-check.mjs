// Checks Mermaid files with mermaid's own parser (headless, under jsdom): node mermaid-check.mjs FILE...
// Exits 1 naming every file it cannot parse. scripts/install-test-tools.sh installs its modules.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
let failed = false;
for (const file of process.argv.slice(2)) {
  try {
    await mermaid.parse(readFileSync(file, "utf8"));
    console.log(`ok ${file}`);
  } catch (e) {
    console.log(`invalid ${file}: ${e.message ?? e}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
