"""What hosts actually hold, as typed values, parsed from the output of the facts' commands.

Parsing lives here (pure functions, tested on captured real output); the pyinfra facts in
``facts/`` only say which command to run and call these parsers.
"""
