// The text widget: the body's Markdown rendered by marked (window.marked, vendored), links
// opening in a new tab.

import { h, message } from '../util.js';
import { Widget } from './widget.js';

export class TextWidget extends Widget {
  constructor(dash, w, index) {
    super(dash, w, index, 'text');
    if (this.p.background === 'transparent') this.el.classList.add('transparent');
    try {
      const html = window.marked.parse(String(this.p.markdown || ''), { async: false });
      const md = h('div', { class: 'markdown' });
      md.innerHTML = html; // the dashboard body is this repo's own, trusted text
      for (const a of md.querySelectorAll('a[href]')) {
        a.target = '_blank';
        a.rel = 'noopener';
      }
      this.bodyEl.append(md);
      this.setStatus('ok');
    } catch (e) {
      this.showError(`cannot render Markdown: ${message(e)}`);
    }
  }
}
