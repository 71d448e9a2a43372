window.ui = SwaggerUIBundle({
  url: "{{ url_for('docs.openapi') }}",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
});
