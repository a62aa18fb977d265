import { expect } from 'chai';
import { clip, fields, table } from '../src/format';

const TOKYO = '東京都'; // three wide characters: 6 columns, 3 code units
const CAFE = 'Cafe\u0301'; // "Café" with a combining accent: 4 columns, 5 code units
const CODER = '👩‍💻'; // woman + zero-width joiner + laptop: 2 columns, 5 code units

describe('ops: text for people aligns by terminal columns, not code units', () => {
  it('pads table columns to the width of wide, combining and joined characters', () => {
    expect(
      table(
        ['ADDRESS', 'ORDER'],
        [
          [TOKYO, 'a'],
          [CAFE, 'b'],
          [CODER, 'c'],
          ['x', 'd'],
        ],
      ).split('\n'),
    ).to.deep.equal(['ADDRESS  ORDER', `${TOKYO}   a`, `${CAFE}     b`, `${CODER}       c`, 'x        d']);
  });

  it('sizes a column to its widest cell when that cell has wide characters', () => {
    expect(table(['A', 'B'], [[`${TOKYO}${TOKYO}`, 'x'], ['y', 'z']]).split('\n')).to.deep.equal([
      'A             B',
      `${TOKYO}${TOKYO}  x`,
      'y             z',
    ]);
  });

  it('aligns the keys of key/value lines by their columns', () => {
    expect(fields([[TOKYO, 1], ['address', 2]]).split('\n')).to.deep.equal([`${TOKYO}   1`, 'address  2']);
  });

  it('clips to at most the given columns, between whole characters', () => {
    expect(clip('東京都渋谷区', 5)).to.equal('東京…');
    expect(clip(`ab${CODER}cd`, 4)).to.equal('ab…');
    expect(clip('e\u0301'.repeat(6), 3)).to.equal('e\u0301e\u0301…');
    expect(clip('short', 5)).to.equal('short');
    expect(clip('  many   spaces\nand lines ', 80)).to.equal('many spaces and lines');
    expect(clip(null)).to.equal(null);
  });
});
