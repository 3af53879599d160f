"""What follows a change, behind one entry: ``changes.changed(services, client, Change(...))`` announces it in the
notification channels (each channel's owning workspace only), then redraws the actor's Home tab and the board.
Listeners call it once after a change; besides it they use only ``home_tab_refresh.publish_home`` (a Home tab
drawn on request) and the expiry reminders ``announcements.notify_channels``. Nothing is imported here, so that
a module of the package can be loaded without the others (the test fork server preloads some, not metrics)."""
