/**
 * Fine-tuning an imported model (#15): a TensorFlow.js model.json with its weights (a small CNN whose base is a
 * nested Sequential, written here with tfjs in Node) is imported: the dialog names the format, the parameter
 * count and that the weights came along; the base is a group on the canvas (a frame; collapsed to one box and
 * expanded again), frozen with "Freeze", the old classifier replaced by a new head for an image folder of 3
 * classes (written here as PNGs), and one short epoch trains from the imported weights, then the results show.
 *
 * Its own serve engine and data folder (ownServeEngine): its import run and training run stay out of the
 * shared e2e server.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { bothThemes, canvasSettled, importFromDisk, node, selectNode } from './helpers/editor';
import { ownServeEngine } from './helpers/ownEngine';

const TOKEN = 'finetune-e2e-token';
const engine = ownServeEngine('finetune', TOKEN);
const SIZE = 16;

/** The "pretrained" model as TensorFlow.js saves one (model.json + weights.bin): a nested Sequential base, then a 10-class head. */
async function writePretrained(dir: string): Promise<number> {
  const tf = await import('@tensorflow/tfjs');
  const { folderSaveHandler } = await import('../main/engine/export/modelFolder');
  await tf.setBackend('cpu');
  const base = tf.sequential({
    name: 'backbone',
    layers: [
      tf.layers.conv2d({ name: 'b_conv1', inputShape: [SIZE, SIZE, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.batchNormalization({ name: 'b_bn1' }),
      tf.layers.maxPooling2d({ name: 'b_pool1', poolSize: 2 }),
      tf.layers.conv2d({ name: 'b_conv2', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
    ],
  });
  const model = tf.sequential({
    name: 'pretrained_cnn',
    layers: [base, tf.layers.flatten({ name: 'flat' }), tf.layers.dense({ name: 'classifier', units: 10, activation: 'softmax' })],
  });
  await model.save(folderSaveHandler(tf, dir));
  const params = model.countParams();
  model.dispose();
  return params;
}

/** An image folder of 3 classes (one sub-folder each): red, green and blue squares with noise, 12 images each. */
function writeImages(dir: string): void {
  const colours: Record<string, [number, number, number]> = { red: [220, 40, 40], green: [40, 200, 60], blue: [40, 60, 220] };
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const [name, rgb] of Object.entries(colours)) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const png = new PNG({ width: SIZE, height: SIZE });
      for (let p = 0; p < SIZE * SIZE; p++) {
        for (let c = 0; c < 3; c++) png.data[p * 4 + c] = Math.max(0, Math.min(255, rgb[c]! + Math.round((rand() - 0.5) * 80)));
        png.data[p * 4 + 3] = 255;
      }
      writeFileSync(join(dir, name, `${i}.png`), PNG.sync.write(png));
    }
  }
}

const frozenNodes = (page: Page) => page.locator('.lf-node.frozen');

test('import a model with weights, freeze its base, replace the head, train on an image folder', async ({ page }) => {
  test.setTimeout(180_000);
  const t0 = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'lf-e2e-finetune-'));
  const modelDir = join(work, 'pretrained');
  const params = await writePretrained(modelDir);
  const images = join(work, 'shapes3');
  writeImages(images);

  await page.goto(engine.url);
  await expect(page.getByTestId('start-screen')).toBeVisible();

  // Import: the dialog says what it found before opening it.
  await page.keyboard.press('ControlOrMeta+I');
  await page.getByTestId('import-model-path').fill(join(modelDir, 'model.json'));
  await page.getByTestId('import-model-confirm').click();
  await expect(page.getByTestId('import-model-format')).toHaveText(/TensorFlow\.js/, { timeout: 60_000 });
  await expect(page.getByTestId('import-model-format')).toHaveAttribute('data-format', 'tfjs-layers');
  await expect(page.getByTestId('import-model-params')).toHaveText(params.toLocaleString('en-US'));
  await expect(page.getByTestId('import-model-weights')).toContainText('Came along');
  await bothThemes(page, 'finetune-1-import-dialog', 'import-model-dialog');
  await page.getByTestId('import-model-open').click();

  // The nested base is a group: a labelled frame around its layers.
  const frame = page.getByTestId('group-frame-backbone');
  await expect(frame).toBeVisible({ timeout: 30_000 });
  await expect(frame).toHaveAttribute('data-count', '4');
  await expect(frame.locator('.lf-group-name')).toHaveAttribute('title', 'backbone: 4 layers');
  await expect(node(page, 'classifier')).toBeVisible();
  await expect(page.getByTestId('total-params')).toHaveText(params.toLocaleString('en-US'));
  await canvasSettled(page); // the import's first layout has landed and the view stopped moving

  // Collapse it to one box (its layers hidden, the edges go to the box), then expand it again; each is one undo step.
  await page.getByTestId('group-toggle-backbone').click();
  const box = page.getByTestId('group-box-backbone');
  await expect(box).toBeVisible();
  await canvasSettled(page);
  await expect(node(page, 'b_conv1')).toHaveCount(0);
  await expect(box.getByTestId('group-box-shapes')).toHaveText(`${SIZE}×${SIZE}×3 → ${SIZE / 2}×${SIZE / 2}×8`);
  await bothThemes(page, 'finetune-2-collapsed');
  await box.getByTestId('group-toggle-backbone').click();
  await expect(node(page, 'b_conv1')).toBeVisible();
  await expect(box).toHaveCount(0);
  await canvasSettled(page);

  // Freeze the base: its layers with weights are drawn frozen, and the summary splits the parameters.
  await page.getByTestId('group-freeze-backbone').click();
  await expect(frozenNodes(page)).toHaveCount(3); // b_conv1, b_bn1, b_conv2 (b_pool1 has no weights)
  await expect(page.getByTestId('params-frozen')).toBeVisible();

  // The image folder: 3 classes, 16x16 like the model's input.
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('initial-weights')).toContainText('imported weights');
  await importFromDisk(page, images, 60_000);

  // Replace the head at the base's last layer: the 10-class classifier goes, a pooling + 3-class Dense come.
  await page.getByTestId('tab-inspect').click();
  await selectNode(page, 'b_conv2');
  await page.getByTestId('finetune-section').locator('summary').click();
  await expect(page.getByTestId('finetune-section')).toContainText('3 classes of shapes3');
  await page.getByTestId('replace-head').click();
  await expect(node(page, 'classifier')).toHaveCount(0);
  await expect(node(page, 'head')).toContainText('3 · softmax');
  await expect(node(page, 'head_pool')).toBeVisible();
  await page.keyboard.press('Escape');
  const convParams = 3 * 3 * 3 * 8 + 8 + 4 * 8 + 3 * 3 * 8 * 8 + 8;
  await expect(page.getByTestId('params-frozen')).toHaveText(convParams.toLocaleString('en-US'));
  await expect(page.getByTestId('params-trainable')).toHaveText(String(8 * 3 + 3));
  await bothThemes(page, 'finetune-3-frozen-base-new-head');

  // One short epoch from the imported weights, then the results.
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('initial-weights')).toContainText('imported weights');
  await page.getByTestId('setting-epochs').fill('1');
  await page.getByTestId('setting-batchSize').fill('8');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
  await expect(page.getByTestId('panel-test-accuracy')).toBeVisible({ timeout: 60_000 });
  await bothThemes(page, 'finetune-4-trained');
  console.log(`fine-tune journey: ${Date.now() - t0} ms`);
});
