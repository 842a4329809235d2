"""Softphones: the bot that plays a scripted person over WebRTC (`bot`, `script`) and a
Python client of the media worker's signalling (`http_client`). The browser softphone is
a page of the API (`api/static/softphone.html`)."""
