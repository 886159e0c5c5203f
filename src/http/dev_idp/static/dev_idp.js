// idbroker's development IdP: post the signed SAML response to the ACS without a click (the
// page's Continue button does the same without this script).
(function () {
  "use strict";
  var f = document.getElementById("autopost");
  if (f) { f.submit(); }
})();
