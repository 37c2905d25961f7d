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
