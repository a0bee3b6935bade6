// cxhub: starts Swagger UI on this hub's own description. A file of its own, so that the page's
// Content-Security-Policy can forbid inline scripts. "Authorize" takes the admin token.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
