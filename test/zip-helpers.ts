/** Reading zips back in tests (yauzl: a zip reader independent of the yazl writer lora uses). */
import yauzl from 'yauzl'

/** Every entry of a zip, by name. */
export function readZip(path: string): Promise<Record<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const entries: Record<string, Buffer> = {}
    yauzl.open(path, {lazyEntries: true}, (error, zip) => {
      if (error) return reject(error)
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (err, stream) => {
          if (err) return reject(err)
          const chunks: Buffer[] = []
          stream.on('data', (chunk: Buffer) => chunks.push(chunk))
          stream.on('end', () => {
            entries[entry.fileName] = Buffer.concat(chunks)
            zip.readEntry()
          })
        })
      })
      zip.on('end', () => resolve(entries))
      zip.on('error', reject)
      zip.readEntry()
    })
  })
}
