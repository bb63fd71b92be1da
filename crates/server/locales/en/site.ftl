# What every page shares (header, footer, forms), English.
app-name = OpenStopCovid
skip-to-content = Skip to content
language-switch = Français
form-forged = This form has expired or did not come from this site. Please try again.
error-internal = Something went wrong on our side. Please try again.
form-unreadable = This form could not be read. Please try again.
nav-sign-out = Sign out
signed-in-as = Signed in as { $email }
