import * as assert from 'node:assert/strict';
import { CAM_COLORMAP, colormap, colormapCssGradient } from '../../server/src/runs/colormap';

describe('CAM colour map', () => {
  it('hits its control points and clamps outside 0..1', () => {
    for (const s of CAM_COLORMAP.stops) assert.deepEqual(colormap(s.t), [...s.rgb]);
    assert.deepEqual(colormap(-1), [0, 0, 128]);
    assert.deepEqual(colormap(2), [128, 0, 0]);
    assert.deepEqual(colormap(NaN), [0, 0, 128]);
  });

  it('interpolates linearly between control points', () => {
    assert.deepEqual(colormap(0.25), [0, 128, 255]);
  });

  it('gives the legend a CSS gradient with every stop', () => {
    const g = colormapCssGradient();
    assert.match(g, /^linear-gradient\(to right, rgb\(0, 0, 128\) 0%/);
    assert.equal(g.match(/rgb\(/g)?.length, CAM_COLORMAP.stops.length);
  });
});
