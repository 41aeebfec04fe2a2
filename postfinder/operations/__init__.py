"""What PostFinder does, each use-case written once.

Front ends (the command line, the Telegram bot, later Discord) parse their input, call
one function here and render its result. Each function owns its whole sequence: the
writer lock, healing what a crash left, the writes, the BM25 refresh, recalibration and
where files go. Every function takes the wired `postfinder.app.App` first.

Modules: `indexing` (exports, live posts, exports handed to a running bot),
`posts` (forget one post), `calibration`, `maintenance` (reembed, repair, serve),
`health`, `members` (a member's data: export, erase), `stats`, `cache` (what ends cached answers), `queries` (search,
answer, the sample channel) and `evaluation` (measure retrieval and answers).
"""
