// The web page of llada-serve in a real browser (headless Chromium through puppeteer-core): load
// it, set the diffusion settings, send a prompt, wait for the unmasking to finish, and check that
// frames with masks were drawn and that the answer on the page is what `llada generate` printed.
// usage: node page_check.mjs BASE_URL EXPECTED_TEXT SCREENSHOT.png
import puppeteer from "puppeteer-core";

const [base, expected, shot] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
let failures = 0;
const check = (cond, what) => { if (!cond) { failures++; console.log("FAIL:", what); } };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 640 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(base + "/", { waitUntil: "networkidle0" });
  await page.waitForFunction(() => !document.getElementById("model").textContent.includes("connecting"));
  const setField = async (id, v) => page.$eval("#" + id, (el, v) => { el.value = v; }, v);
  await setField("max_tokens", "16");
  await setField("block_length", "8");
  await page.type("#prompt", "床前明月光的下一句是什么？ 直接输出句子即可。");
  await page.click("#send");
  await page.waitForSelector(".msg.assistant[data-state=done], .msg.assistant[data-state=error]", { timeout: 120000 });
  const r = await page.$eval(".msg.assistant", (el) => ({
    state: el.dataset.state, frames: Number(el.dataset.frames || 0), masked: Number(el.dataset.maskedFrames || 0),
    answer: el.firstChild.textContent, cells: el.querySelectorAll(".cell").length,
    masks: el.querySelectorAll(".cell.mask").length, speed: el.querySelector(".speed").textContent,
  }));
  check(r.state === "done", `answer state ${r.state} (${r.answer})`);
  check(r.frames >= 2 && r.masked >= 1, `frames drawn: ${r.frames}, with masks: ${r.masked}`);
  check(r.cells === 16 && r.masks === 0, `final canvas: ${r.cells} cells, ${r.masks} masked`);
  check(r.answer === expected, `answer on the page '${r.answer}' != llada generate '${expected}'`);
  check(/tokens\/s/.test(r.speed), `speed line: '${r.speed}'`);
  check(errors.length === 0, `page errors: ${errors}`);
  if (shot) await page.screenshot({ path: shot });
} finally {
  await browser.close();
}
console.log("page_check:", failures ? `${failures} failure(s)` : "ok");
process.exit(failures ? 1 : 0);
