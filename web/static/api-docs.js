/* The API docs page: Swagger UI on this app's own OpenAPI document, nothing fetched elsewhere
 * (validatorUrl: null keeps it from sending the document to swagger.io). */
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: box.getAttribute("data-url"),
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true
  });
})();
