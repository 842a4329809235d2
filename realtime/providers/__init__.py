"""Speech-to-text, agent brain and text-to-speech providers behind one interface each."""
