"""The ipywidgets side: the packet list (anywidget), the inspector, the controls and the Workbench."""
