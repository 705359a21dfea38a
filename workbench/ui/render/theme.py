"""The workbench's stylesheet: one <style> block, every rule under a wb- class so nothing leaks out.

Light background, large type and strong colours: it has to read on a classroom projector.
"""

STYLE = """
.wb-app { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: #111827;
  background: #ffffff; }
.wb-app .widget-label, .wb-app .widget-button, .wb-app select, .wb-app input { font-size: 14px; }
.wb-header { display: flex; align-items: baseline; gap: 14px; padding: 6px 4px 2px 4px; }
.wb-title { font-size: 22px; font-weight: 700; color: #0f172a; letter-spacing: -0.01em; }
.wb-subtitle { color: #475569; font-size: 14px; }
.wb-section-label { font-weight: 600; color: #334155; min-width: 70px; }
.wb-app .widget-button.wb-primary { background: #2563eb; color: white; font-weight: 600; }
.wb-app .widget-button.wb-step-button { background: #0f766e; color: white; font-weight: 600; }
.wb-app .widget-button:disabled { opacity: 0.45; }
.wb-status-text { padding: 4px 8px; color: #1e293b; background: #f1f5f9; border-radius: 6px; }
.wb-status-text b { color: #0f172a; }
.wb-problem-list { margin: 4px 0; }
.wb-problem { border-left: 6px solid #dc2626; background: #fef2f2; color: #7f1d1d; padding: 6px 10px;
  margin: 3px 0; border-radius: 4px; white-space: pre-wrap; }
.wb-problem b { color: #991b1b; }
.wb-problem.wb-problem-keys { border-color: #d97706; background: #fffbeb; color: #78350f; }
.wb-problem.wb-problem-keys b { color: #92400e; }
.wb-chip { display: inline-block; color: white; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.wb-badge { display: inline-block; margin-left: 6px; padding: 0 7px; border-radius: 999px; font-size: 12px;
  background: #fef3c7; color: #92400e; border: 1px solid #fcd34d; white-space: nowrap; }
.wb-packet-list .wb-packet-scroll { max-height: 430px; overflow: auto; border: 1px solid #cbd5e1;
  border-radius: 6px; outline: none; }
.wb-packet-table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
.wb-packet-table th { position: sticky; top: 0; background: #1e293b; color: white; text-align: left;
  padding: 5px 8px; font-weight: 600; z-index: 1; }
.wb-packet-table td { padding: 4px 8px; border-bottom: 1px solid #e2e8f0; white-space: nowrap; }
.wb-packet-table tr.wb-packet-row { cursor: pointer; }
.wb-packet-table tr.wb-c2s td { background: #f8fafc; }
.wb-packet-table tr.wb-s2c td { background: #ffffff; }
.wb-packet-table tr.wb-handshake td.wb-col-details { font-weight: 600; }
.wb-packet-table tr.wb-alert td { background: #fef2f2; }
.wb-packet-table tr.wb-key-update-row td { background: #ecfdf5; }
.wb-packet-table tr.wb-in-flight td { font-style: italic; color: #64748b; }
.wb-packet-table tr:hover td { background: #e0f2fe; }
.wb-packet-table tr.wb-selected td { background: #fde68a !important; }
.wb-packet-table td.wb-col-index, .wb-packet-table td.wb-col-time, .wb-packet-table td.wb-col-seq,
.wb-packet-table td.wb-col-length { text-align: right; font-variant-numeric: tabular-nums; color: #334155; }
.wb-packet-table td.wb-col-dir { font-weight: 700; color: #0f172a; }
.wb-unavailable { color: #64748b; font-size: 12.5px; margin-top: 4px; }
.wb-packet-table td.wb-col-details { max-width: 215px; overflow: hidden; text-overflow: ellipsis; }
.wb-packet-table td.wb-col-time { font-size: 12.5px; }
.wb-packet-empty { color: #64748b; padding: 18px !important; text-align: center; }
.wb-pager { align-items: center; }
.wb-pager-label { color: #334155; }
.wb-record-summary { font-size: 13.5px; line-height: 1.5; padding: 4px 2px; }
.wb-record-summary .wb-kv { color: #475569; }
.wb-app .wb-field-tree select { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; }
.wb-hex { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; line-height: 1.45;
  white-space: pre; background: #0f172a; color: #e2e8f0; padding: 8px 10px; border-radius: 6px; overflow: auto;
  max-height: 300px; max-width: 100%; box-sizing: border-box; }
.wb-hex-view, .wb-record-summary-widget { overflow: hidden; max-width: 100%; }
.wb-hex-offset { color: #64748b; margin-right: 8px; }
.wb-hex-text { color: #94a3b8; }
.wb-hex-hl { background: #facc15; color: #0f172a; border-radius: 2px; }
.wb-hex-title { color: #93c5fd; margin-bottom: 4px; white-space: normal; }
.wb-hex-skip { color: #64748b; }
.wb-view { padding: 6px 2px; }
.wb-empty { color: #64748b; font-style: italic; padding: 14px; }
.wb-scroll { overflow: auto; max-height: 560px; }
.wb-seq-svg text { font-family: system-ui, sans-serif; }
.wb-seq-head rect { fill: #1e293b; }
.wb-seq-head text { fill: white; font-weight: 700; font-size: 15px; }
.wb-seq-lifeline { stroke: #94a3b8; stroke-width: 2; stroke-dasharray: 4 4; }
.wb-seq-band { fill: #e0e7ff; }
.wb-seq-title { font-size: 13px; font-weight: 700; fill: #1e3a8a; }
.wb-seq-label { font-size: 13.5px; fill: #0f172a; font-weight: 600; }
.wb-seq-meta { font-size: 11.5px; }
.wb-seq-index { font-size: 12px; fill: #64748b; }
.wb-seq-newkeys { font-size: 12px; font-weight: 700; }
.wb-seq-selected { fill: #fef3c7; }
.wb-seq-badge rect { fill: #fef3c7; stroke: #f59e0b; }
.wb-seq-badge text { font-size: 11.5px; fill: #92400e; font-weight: 600; }
.wb-ks-caption, .wb-lanes-title { font-weight: 700; color: #1e3a8a; margin: 4px 0; }
.wb-ks-legend { margin: 4px 0 8px 0; display: flex; flex-wrap: wrap; gap: 12px; }
.wb-ks-box { fill: #ffffff; stroke-width: 2; }
.wb-ks-name { font-size: 14px; font-weight: 700; fill: #0f172a; font-family: system-ui, sans-serif; }
.wb-ks-value { font-size: 11.5px; fill: #64748b; font-family: ui-monospace, monospace; }
.wb-ks-from { font-size: 11.5px; fill: #475569; font-style: italic; font-family: system-ui, sans-serif; }
.wb-ks-install { font-size: 12px; font-weight: 600; font-family: system-ui, sans-serif; }
.wb-ks-edge { fill: none; stroke: #94a3b8; stroke-width: 2; }
.wb-lane-label { font-size: 13px; font-weight: 600; fill: #334155; font-family: system-ui, sans-serif; }
.wb-lane-bg { fill: #f1f5f9; }
.wb-lane-text { fill: white; font-size: 12.5px; font-weight: 700; font-family: system-ui, sans-serif; }
.wb-lane-tick { stroke: #0f172a; stroke-width: 3; }
.wb-lane-mark { font-size: 12px; fill: #0f172a; font-weight: 600; font-family: system-ui, sans-serif; }
.wb-lane-diamond { fill: #f59e0b; stroke: #92400e; }
.wb-lane-axis { font-size: 11px; fill: #64748b; font-family: system-ui, sans-serif; }
.wb-lanes-note { color: #475569; font-size: 12.5px; }
.wb-lanes-connection { margin-bottom: 10px; }
.wb-ticket-grid { display: flex; flex-wrap: wrap; gap: 12px; }
.wb-ticket { border: 2px solid #cbd5e1; border-radius: 10px; padding: 8px 12px; min-width: 300px;
  background: linear-gradient(135deg, #fffbeb 0%, #ffffff 60%); }
.wb-ticket.wb-ticket-used { border-color: #059669; background: linear-gradient(135deg, #ecfdf5 0%, #ffffff 60%); }
.wb-ticket.wb-ticket-refused { border-color: #dc2626; }
.wb-ticket-head { display: flex; gap: 10px; align-items: baseline; margin-bottom: 4px; }
.wb-ticket-id { font-size: 17px; font-weight: 800; color: #0f172a; }
.wb-ticket-fp { font-family: ui-monospace, monospace; color: #64748b; }
.wb-ticket-status { margin-left: auto; font-weight: 700; color: #92400e; }
.wb-ticket-used .wb-ticket-status { color: #047857; }
.wb-ticket-refused .wb-ticket-status { color: #b91c1c; }
.wb-ticket-fields th { text-align: left; color: #475569; font-weight: 600; padding-right: 10px; vertical-align: top; }
.wb-ticket-fields td { color: #0f172a; }
.wb-wallet-saved { margin-bottom: 8px; color: #1e3a8a; font-weight: 600; }
.wb-step { font-size: 14.5px; line-height: 1.5; }
.wb-step-title { font-size: 17px; font-weight: 800; color: #0f172a; }
.wb-step-position { color: #475569; }
.wb-step-sent { margin: 6px 0; }
.wb-step-error { border-left: 6px solid #dc2626; background: #fef2f2; padding: 4px 8px; color: #7f1d1d; }
.wb-step-section { font-weight: 700; color: #1e3a8a; margin-top: 8px; }
.wb-step-keys th { text-align: left; padding-right: 12px; }
.wb-step-keys td { padding-right: 16px; }
.wb-step ul { margin: 2px 0 2px 0; padding-left: 22px; }
.wb-text-view pre { font-size: 12.5px; line-height: 1.35; }
.wb-log pre { font-size: 12.5px; background: #f8fafc; padding: 6px; border-radius: 6px; }
"""


def style_tag() -> str:
    return f"<style>{STYLE}</style>"
