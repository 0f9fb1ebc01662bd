/** core/progress.ts `rateText`: the rate and time left of `lora autotag`'s progress line. */
import {groupDigits, rateText} from '../../src/core/progress.js'

describe('rateText', () => {
  it('gives the rate and the time left', () => {
    expect(rateText(10, 40, 4000, 'images')).toBe('2.5 images/s, ETA 0:12')
    expect(rateText(300, 10_000, 10_000, 'images')).toBe('30 images/s, ETA 5:23')
    expect(rateText(1, 4000, 1000, 'images')).toBe('1.0 images/s, ETA 1:06:39')
    expect(rateText(40, 40, 4000, 'images')).toBe('10 images/s, ETA 0:00')
  })

  it('is empty before the first unit or the first 100 ms', () => {
    expect(rateText(0, 40, 5000, 'images')).toBe('')
    expect(rateText(3, 40, 50, 'images')).toBe('')
  })
})

describe('groupDigits', () => {
  it('writes whole numbers as toLocaleString("en-US") does', () => {
    for (const n of [0, 1, 7, 999, 1000, 1001, 12_345, 999_999, 1_000_000, 1_234_567_890, -1, -1234, -1_234_567])
      expect(groupDigits(n)).toBe(n.toLocaleString('en-US'))
    expect(groupDigits(12_345)).toBe('12,345')
    expect(groupDigits(1.5)).toBe('1.5')
  })
})
