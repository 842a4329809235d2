"""Softphones: the bot that plays a scripted person over WebRTC (and, later, the browser one)."""
