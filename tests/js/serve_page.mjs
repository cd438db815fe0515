// The web chat page of owl serve in headless Chromium (Debian's, driven by
// playwright-core): it loads, lists the model, sends a message, shows the
// streamed answer, and a screenshot is saved to build/serve_page.png.
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const owl = process.env.OWL_BIN || 'build/owl';
const shared = process.env.OWL_SHARED || '../shared';
const build = process.env.OWL_BUILD || 'build';
let pass = 0, fail = 0;
const check = (c, m) => (c ? pass++ : (fail++, console.log('FAIL: ' + m)));

const srv = spawn(owl, ['serve', '--model', `s=${shared}/models/stories260K/stories260K.gguf`, '--chat-template',
  'tests/data/chatml.jinja', '--port', '0', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((res, rej) => {
  let log = '';
  srv.stderr.on('data', (d) => { log += d; const m = /127\.0\.0\.1:(\d+)/.exec(log); if (m) res(Number(m[1])); });
  srv.on('exit', (c) => rej(new Error(`server exited ${c}: ${log}`)));
});
let browser;
try {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  check((await page.title()) === 'owl chat', 'page title');
  await page.waitForFunction(() => document.querySelector('#model').options.length > 0, null, { timeout: 5000 });
  check((await page.$eval('#model', (e) => e.value)) === 's', 'model picker lists s');
  await page.fill('#max', '40');
  await page.fill('#msg', 'Tell me a story');
  await page.click('#send');
  await page.waitForSelector('.assistant[data-done="1"]', { timeout: 10000 });
  const text = await page.$eval('.assistant', (e) => e.textContent);
  check(text.length > 0 && !text.includes('[error]'), 'streamed answer shown: ' + text);
  check((await page.$eval('.user', (e) => e.textContent)) === 'Tell me a story', 'user message shown');
  await page.screenshot({ path: `${build}/serve_page.png` });
  check(true, 'screenshot');
} catch (e) {
  check(false, 'unexpected: ' + (e.stack || e));
}
if (browser) await browser.close();
srv.kill('SIGTERM');
console.log(`serve_page: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
