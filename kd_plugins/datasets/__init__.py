# Dataset helpers and registrations for kd_plugins.
