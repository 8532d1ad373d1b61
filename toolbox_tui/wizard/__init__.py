"""The wizard's engine side: `backend`, the one object the Textual wizard receives and calls
(every call goes to the same engine functions as the CLI), and `state`, what the wizard remembers
between runs.

May import: every engine folder but `cli`. Never Textual.
"""
