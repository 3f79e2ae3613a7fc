using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;

namespace Aim.Server;

/// <summary>
/// A minimal OpenAPI 3.1 document listing every route and method (the Microsoft.AspNetCore.OpenApi package
/// is not available here, so the document is derived from the endpoint table itself and cannot drift from it).
/// </summary>
internal static class OpenApiDocument
{
    public static JsonObject Build(EndpointDataSource endpoints)
    {
        var paths = new JsonObject();
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>().OrderBy(e => e.RoutePattern.RawText, StringComparer.Ordinal))
        {
            string path = "/" + (endpoint.RoutePattern.RawText ?? string.Empty).TrimStart('/');
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            if (paths[path] is not JsonObject item)
            {
                item = [];
                paths[path] = item;
            }

            foreach (var method in methods)
            {
                var parameters = new JsonArray();
                foreach (var p in endpoint.RoutePattern.Parameters)
                {
                    parameters.Add(new JsonObject { ["name"] = p.Name, ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" } });
                }

                item[method.ToLowerInvariant()] = new JsonObject
                {
                    ["parameters"] = parameters,
                    ["responses"] = new JsonObject
                    {
                        ["2XX"] = new JsonObject { ["description"] = "Success (JSON)." },
                        ["4XX"] = new JsonObject { ["description"] = "Refused: {\"error\":{\"code\",\"message\"}} with a stable code." },
                    },
                };
            }
        }

        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject { ["title"] = "Aim server", ["version"] = "v1" },
            ["paths"] = paths,
        };
    }
}
