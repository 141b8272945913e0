"""The window's side panels: entity tree, message inspector (selection), TF tree, timeline."""
