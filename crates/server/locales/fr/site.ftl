# Ce que partagent toutes les pages (en-tête, pied de page, formulaires), français.
app-name = OpenStopCovid
skip-to-content = Aller au contenu
language-switch = English
form-forged = Ce formulaire a expiré ou ne provient pas de ce site. Veuillez réessayer.
error-internal = Un problème est survenu de notre côté. Veuillez réessayer.
form-unreadable = Ce formulaire n'a pas pu être lu. Veuillez réessayer.
nav-sign-out = Se déconnecter
signed-in-as = Connecté·e : { $email }
