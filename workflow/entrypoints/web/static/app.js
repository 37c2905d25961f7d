// Runs after htmx and mermaid (all deferred): draws the workflow diagram where there is one.
document.addEventListener("DOMContentLoaded", function () {
  var diagram = document.querySelector("pre.mermaid");
  if (!diagram) return;
  var script = document.createElement("script");
  script.src = "/static/mermaid.min.js";
  script.onload = function () {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    window.mermaid.run({ nodes: [diagram] });
  };
  document.head.appendChild(script);
});

// The mailed sign-in link carries its secret in the fragment, which no server sees: put
// it in the page's form, then drop it from the address bar and the history.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("link-form");
  if (!form) return;
  var secret = window.location.hash.slice(1);
  if (secret) {
    form.elements.namedItem("secret").value = secret;
    history.replaceState(null, "", window.location.pathname);
    form.hidden = false;
  } else {
    document.getElementById("link-missing").hidden = false;
  }
});
