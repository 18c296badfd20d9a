// Reports: SVG charts, inline PNG galleries, self-contained HTML and TensorBoard event files.
// Imported as 'normlab/report' (not from the package root, so that vega loads only when needed).
export * from './charts.js';
export { encodePng, pngDataUri, imageGridHtml, type ImageCell } from './png.js';
export { buildRunReport, reportCommand, readRun, groupRuns, renderReportHtml, htmlTable, escapeHtml, type RunData, type RunReportOptions, type ReportSection } from './html.js';
export { crc32c, maskedCrc32c, encodeEvent, encodeRecord, eventFileBytes, writeEventFile, writeRunEvents, type TbEvent, type SummaryValue, type HistogramData } from './tensorboard.js';
