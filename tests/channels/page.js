// Opens a page in Debian's headless Chromium through playwright-core for the Python page
// tests, runs its steps in order, then prints the DOM on stdout. A step waits until a JS
// expression holds on the page (an event, never a fixed time), checks that one holds now,
// clicks (accepting any confirm() it raises) or takes a screenshot:
//
//   node page.js '{"url": "…", "width": 1280, "height": 900, "timeout_ms": 20000,
//                  "steps": [{"until": "<JS expression>"}, {"check": "<JS expression>"},
//                            {"click": "<selector>"},
//                            {"screenshot": "/path.png"}]}'
const {chromium} = require("playwright-core")

const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

async function main() {
  const cmd = JSON.parse(process.argv[2])
  const timeout = cmd.timeout_ms || 20000
  const browser = await chromium.launch({executablePath: cmd.chromium, args: FLAGS})
  try {
    const page = await browser.newPage({viewport: {width: cmd.width, height: cmd.height}})
    const errors = []
    page.on("pageerror", (error) => errors.push(String(error)))
    page.on("dialog", (dialog) => dialog.accept())
    await page.goto(cmd.url)
    for (const step of cmd.steps) {
      if (step.until) {
        // A function, not a string: the page's CSP forbids eval, not CDP's callFunctionOn.
        const until = new Function("return (" + step.until + ")")
        await page.waitForFunction(until, null, {timeout})
      } else if (step.check) {
        const holds = await page.evaluate(new Function("return (" + step.check + ")"))
        if (!holds) throw new Error("does not hold on the page: " + step.check)
      } else if (step.click) {
        await page.click(step.click, {timeout})
      } else if (step.screenshot) {
        await page.screenshot({path: step.screenshot})
      }
    }
    if (errors.length) throw new Error("the page threw: " + errors.join("; "))
    process.stdout.write(await page.content())
  } finally {
    await browser.close()
  }
}

main().catch((error) => { process.stderr.write(String(error.stack || error) + "\n"); process.exit(1) })
