"""Local fakes of paid services, speaking their real wire protocols over loopback."""
