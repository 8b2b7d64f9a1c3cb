// A PNG of report.html as headless Chromium renders it: what people paste into
// an issue or a release note when they publish a comparison. The page is
// self-contained, so every request but the file itself and its data: URLs is
// refused (a request elsewhere would mean the report is not).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { pngHeaderSize } from '../../datasets/formats/png.ts';
import { BASE_FLAGS, findChrome } from '../browser/chrome.ts';
import { writeFileAtomic } from './atomic.ts';

export interface ReportScreenshot {
  path: string;
  width: number;
  height: number;
  /** URLs the page asked for besides itself and data: URLs (refused); empty for a self-contained report. */
  refused: string[];
}

/** Chromium cuts full-page captures taller than this; longer reports are shown from the top. */
export const MAX_SCREENSHOT_HEIGHT = 16_000;

export async function screenshotReport(htmlPath: string, pngPath: string, options: { width?: number } = {}): Promise<ReportScreenshot> {
  const url = pathToFileURL(resolve(htmlPath)).href;
  const profile = await mkdtemp(join(tmpdir(), 'dg4d-screenshot-'));
  const browser = await puppeteer.launch({
    executablePath: findChrome(),
    headless: true,
    pipe: true,
    args: [...BASE_FLAGS.filter((f) => !f.startsWith('--headless')), `--user-data-dir=${profile}`],
  });
  try {
    const page = await browser.newPage();
    const width = options.width ?? 1200;
    await page.setViewport({ width, height: 900 });
    const refused: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const u = req.url();
      if (u === url || u.startsWith('data:')) void req.continue();
      else {
        refused.push(u);
        void req.abort();
      }
    });
    await page.goto(url, { waitUntil: 'load' });
    const fullHeight = Number(await page.evaluate('document.documentElement.scrollHeight'));
    const height = Math.min(Math.max(1, Math.ceil(fullHeight)), MAX_SCREENSHOT_HEIGHT);
    const shot = await page.screenshot({ type: 'png', clip: { x: 0, y: 0, width, height }, captureBeyondViewport: true });
    const png = new Uint8Array(shot);
    // The header is enough to name the size; decoding a 13k-pixel-tall page to floats would cost ~250 MB.
    const decoded = pngHeaderSize(png, pngPath);
    await writeFileAtomic(pngPath, png);
    return { path: resolve(pngPath), width: decoded.width, height: decoded.height, refused };
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
}
