/*
 * dashboard.js - the NOC page in real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core). Run by tests/integration/test_browser.py, which starts a node and a sink
 * and passes them in the environment:
 *   MX_URL      http://127.0.0.1:PORT  the node's web process
 *   MX_TOKEN    the node's API token
 *   MX_SMTP     the node's SMTP port
 *   MX_RCPT     a recipient of a tenant whose malware goes to quarantine
 *   MX_MARKER   a string the node's analysts' signature calls a virus
 *   MX_ARTIFACTS  where screenshots go
 * Steps: bad login refused; login; counters move as mail is sent; load over the configured spec
 * turns the bar yellow; a message caught by the signature is quarantined and released from the
 * quarantine page; kill -9 of the scan worker turns the bar red with its reason, and green again
 * after the restart. Exits non-zero on the first failed step.
 */
'use strict';

const net = require('net');
const path = require('path');
const fs = require('fs');
const { chromium } = require('playwright-core');

const URL = process.env.MX_URL;
const TOKEN = process.env.MX_TOKEN;
const SMTP_PORT = Number(process.env.MX_SMTP);
const RCPT = process.env.MX_RCPT;
const MARKER = process.env.MX_MARKER;
const ART = process.env.MX_ARTIFACTS || path.join(__dirname, 'artifacts');

function log(msg) { console.log(new Date().toISOString().slice(11, 23) + ' ' + msg); }

/* ---- a minimal SMTP client: one connection, many messages ------------------------------- */

class Smtp {
  constructor(port) { this.port = port; this.buf = ''; this.waiters = []; }

  connect() {
    return new Promise((resolve, reject) => {
      this.sock = net.connect(this.port, '127.0.0.1');
      this.sock.setEncoding('latin1');
      this.sock.on('data', (d) => { this.buf += d; this.pump(); });
      this.sock.on('error', (e) => { for (const w of this.waiters.splice(0)) w.reject(e); reject(e); });
      this.sock.once('connect', async () => {
        try { await this.reply(220); await this.cmd('EHLO browser.test', 250); resolve(); } catch (e) { reject(e); }
      });
    });
  }

  pump() {
    for (;;) {
      const m = this.buf.match(/^(?:\d{3}-[^\n]*\n)*(\d{3}) [^\n]*\n/);
      if (!m || !this.waiters.length) return;
      this.buf = this.buf.slice(m[0].length);
      this.waiters.shift().resolve({ code: Number(m[1]), text: m[0] });
    }
  }

  reply(want) {
    return new Promise((resolve, reject) => {
      this.waiters.push({
        resolve: (r) => (r.code === want ? resolve(r) : reject(new Error('SMTP wanted ' + want + ', got ' + r.text.trim()))),
        reject,
      });
      this.pump();
    });
  }

  cmd(line, want) { this.sock.write(line + '\r\n'); return this.reply(want); }

  async send(from, to, subject, body) {
    await this.cmd('MAIL FROM:<' + from + '>', 250);
    await this.cmd('RCPT TO:<' + to + '>', 250);
    await this.cmd('DATA', 354);
    const msg = ['From: <' + from + '>', 'To: <' + to + '>', 'Subject: ' + subject,
      'Message-ID: <' + Date.now() + '.' + Math.random().toString(16).slice(2) + '@browser.test>',
      'Date: Sat, 28 Nov 2026 12:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain', '', body, '.', ''].join('\r\n');
    this.sock.write(msg);
    return this.reply(250);
  }

  async quit() { try { await this.cmd('QUIT', 221); } catch (e) { /* closing anyway */ } this.sock.destroy(); }
}

async function sendMany(n, subject) {
  const c = new Smtp(SMTP_PORT);
  await c.connect();
  for (let i = 0; i < n; i++) await c.send('alice@sender.test', RCPT, subject + ' ' + i, 'Hello from the browser test.');
  await c.quit();
}

/* ---- page helpers --------------------------------------------------------------------------- */

async function shot(page, name) {
  const file = path.join(ART, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  log('screenshot ' + file);
}

async function barState(page) {
  return page.evaluate(() => {
    const b = document.querySelector('.bar[data-node]');
    return b ? { colour: b.getAttribute('data-colour'), reason: b.querySelector('.bar-reason').textContent } : null;
  });
}

async function waitBar(page, colour, reasonPart, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    last = await barState(page);
    if (last && last.colour === colour && (!reasonPart || last.reason.includes(reasonPart))) return last;
    await page.waitForTimeout(250);
  }
  throw new Error('bar never turned ' + colour + (reasonPart ? ' (' + reasonPart + ')' : '') + '; last ' + JSON.stringify(last));
}

async function overviewAccepted(page) {
  const t = await page.locator('#overview-accepted .v').textContent();
  return Number(t);
}

async function apiStatus(page) {
  return page.evaluate(async () => (await fetch('/api/v1/status', { credentials: 'same-origin' })).json());
}

/* ---- the run -------------------------------------------------------------------------------- */

async function main() {
  fs.mkdirSync(ART, { recursive: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => d.accept());
  try {
    /* Login: a wrong token is refused, the right one opens the towers. */
    await page.goto(URL + '/');
    await page.waitForSelector('#login-form', { state: 'visible' });
    await page.fill('#login-token', 'f'.repeat(64));
    await page.click('#login-submit');
    await page.waitForSelector('#login-error', { state: 'visible' });
    await shot(page, '01-login-refused');
    await page.fill('#login-token', TOKEN);
    await page.click('#login-submit');
    await page.waitForSelector('.bar[data-node="node1"]');
    const html = await page.content();
    if (html.includes(TOKEN)) throw new Error('the token is in the page');
    const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie);
    if (stored.includes(TOKEN) || stored.includes('mxtower_session')) throw new Error('a secret is readable by scripts: ' + stored);
    log('logged in');

    /* Counters move without a reload. */
    await waitBar(page, 'green', null, 60000);
    const before = await overviewAccepted(page);
    await sendMany(3, 'counter');
    await page.waitForFunction((b) => Number(document.querySelector('#overview-accepted .v').textContent) >= b + 3,
      before, { timeout: 30000 });
    log('accepted counter moved from ' + before + ' to ' + await overviewAccepted(page));
    await shot(page, '02-towers-green');

    /* Load over the small spec: yellow with its reason. */
    let loading = true;
    const loaders = [0, 1, 2].map(async (k) => {
      const c = new Smtp(SMTP_PORT);
      await c.connect();
      let i = 0;
      while (loading) await c.send('load@sender.test', RCPT, 'load ' + k + '.' + i++, 'load');
      await c.quit();
    });
    const loadFailed = Promise.all(loaders).then(() => null, (e) => e);
    const yellow = await Promise.race([waitBar(page, 'yellow', 'mail flow', 60000),
      loadFailed.then((e) => { if (e) throw e; return null; })]);
    log('yellow: ' + yellow.reason);
    await shot(page, '03-towers-yellow');
    loading = false;
    const le = await loadFailed;
    if (le) throw le;
    await waitBar(page, 'green', null, 60000);
    log('green again after the load');

    /* Quarantine: a message the analysts' signature catches is held; release it from the page. */
    const q = new Smtp(SMTP_PORT);
    await q.connect();
    await q.send('mallory@sender.test', RCPT, 'quarantine-release-me', 'payload ' + MARKER + ' end');
    await q.quit();
    await page.goto(URL + '/#/quarantine');
    await page.waitForSelector('#mail-body tr[data-id]', { timeout: 30000 });
    const id = await page.locator('#mail-body tr[data-id]').first().getAttribute('data-id');
    log('quarantined ' + id);
    await shot(page, '04-quarantine');
    await page.click('#mail-body button.release[data-id="' + id + '"]');
    await page.waitForFunction((i) => (document.getElementById('flash') || {}).textContent === 'Released ' + i, id,
      { timeout: 20000 });
    await page.waitForFunction((i) => !document.querySelector('#mail-body tr[data-id="' + i + '"]'), id, { timeout: 20000 });
    console.log('RELEASED ' + id);
    await shot(page, '05-quarantine-released');

    /* kill -9 a scan worker: red with the reason, then green after the restart. */
    await page.goto(URL + '/#/');
    await waitBar(page, 'green', null, 60000);
    const st = await apiStatus(page);
    const scan = st.node.processes.find((p) => p.kind === 'scan' && p.live);
    if (!scan) throw new Error('no live scan worker in ' + JSON.stringify(st.node.processes));
    process.kill(scan.pid, 'SIGKILL');
    log('killed scan worker pid ' + scan.pid);
    const red = await waitBar(page, 'red', 'scan worker crashed', 20000);
    log('red: ' + red.reason);
    await shot(page, '06-towers-red');
    await page.goto(URL + '/#/node/node1');
    await page.waitForSelector('#node-colour[data-colour="red"]', { timeout: 10000 });
    await shot(page, '07-server-red');
    await page.goto(URL + '/#/');
    await waitBar(page, 'green', null, 90000);
    const st2 = await apiStatus(page);
    const scan2 = st2.node.processes.find((p) => p.kind === 'scan' && p.live);
    if (!scan2 || scan2.pid === scan.pid || scan2.restarts < 1) throw new Error('scan worker not restarted: ' + JSON.stringify(scan2));
    log('green again, scan worker now pid ' + scan2.pid);
    await shot(page, '08-towers-green-again');
    await page.goto(URL + '/#/node/node1');
    await page.waitForSelector('#node-colour[data-colour="green"]');
    await page.waitForFunction(() => document.querySelectorAll('.events li').length > 0);
    await shot(page, '09-server');
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    console.log('BROWSER-TEST-OK');
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error('BROWSER-TEST-FAILED: ' + (e && e.stack || e)); process.exit(1); });
