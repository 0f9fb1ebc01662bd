#!/usr/bin/env node
// `npm run demo`: the main job on the real sample photos in examples/photos, in a scratch copy (.demo/, ignored by
// git) so the repository stays clean. Runs init, tags a few images non-interactively, shows status and an export.
import {execFileSync} from 'node:child_process'
import {cpSync, readdirSync, rmSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'bin', 'run.js')
const scratch = join(root, '.demo')
const photos = join(scratch, 'photos')
const show = (p) => relative(process.cwd(), p) || '.'

function lora(args, input) {
  process.stdout.write(`\n$ lora ${args.map((a) => (/[\s,"]/u.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`)
  execFileSync(process.execPath, [bin, ...args], {
    input,
    stdio: ['pipe', 'inherit', 'inherit'],
    env: {...process.env, LORA_VIEWER: 'none'},
  })
}

rmSync(scratch, {recursive: true, force: true})
cpSync(join(root, 'examples', 'photos'), photos, {recursive: true})
console.log(`Copied ${readdirSync(photos).length} sample photos to ${show(photos)}`)

lora(['init', photos, '--trigger', 'ohwx'])
lora(['tag', '-C', photos, '1', '--add', 'landscape, kite, sky'])
lora(['tag', '-C', photos, 'img_0002', '--add', 'landscape, path, trees'])
lora(['tag', '-C', photos, '--stdin'], 'img_0004\tcat, tabby, lying down\nimg_0005\tcoffee, cup, saucer, table\n')
lora(['status', '-C', photos])
lora(['export', '-C', photos, join(scratch, 'train'), '--target', 'kohya', '--repeats', '10', '--class', 'scenery'])
lora(['export', '-C', photos, '-', '--format', 'csv'])
console.log(
  `\nThe kohya-ready folder is in ${show(join(scratch, 'train'))} (train with its dataset.toml: accelerate launch train_network.py --dataset_config ${show(join(scratch, 'train', 'dataset.toml'))} ...). Tag the rest interactively:\n`,
)
console.log(`  node bin/run.js next -C ${show(photos)}\n`)
