using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace CoapEnroll.Cmp;

/// <summary>
/// CMP over HTTP (RFC 6712, RFC 9811): POST of a DER PKIMessage with media type <c>application/pkixcmp</c> to
/// <c>/.well-known/cmp</c>, <c>/.well-known/cmp/p/&lt;label&gt;</c> and the long operation names after either; 200 with the DER
/// answer (CMP-level errors included), 415 for another media type, 413 beyond the size limit, 404 for an unknown profile label,
/// 400 for bytes that are no PKIMessage. Plain HTTP is legitimate: the messages protect themselves (RFC 9811 §3.6).
/// </summary>
public static class CmpHttpEndpoints
{
    /// <summary>The media type of RFC 6712 §3.4.</summary>
    public const string MediaType = "application/pkixcmp";

    /// <summary>The HTTP operation labels of RFC 9483 §6.</summary>
    public static IReadOnlyList<string> OperationLabels { get; } =
        ["initialization", "certification", "keyupdate", "pkcs10", "revocation", "getcacerts", "getrootupdate", "getcertreqtemplate", "getcrls"];

    /// <summary>Maps the CMP endpoints; <paramref name="frontEnd"/> names the channel in the store (<c>cmp-http</c>).</summary>
    public static void MapCmp(this IEndpointRouteBuilder endpoints, CmpServer cmp, string frontEnd)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(cmp);
        const string Root = "/.well-known/cmp";
        endpoints.MapPost(Root, context => HandleAsync(context, cmp, frontEnd, null));
        endpoints.MapPost(Root + "/p/{label}", context => HandleAsync(context, cmp, frontEnd, null));
        foreach (string operation in OperationLabels)
        {
            endpoints.MapPost($"{Root}/{operation}", context => HandleAsync(context, cmp, frontEnd, operation));
            endpoints.MapPost($"{Root}/p/{{label}}/{operation}", context => HandleAsync(context, cmp, frontEnd, operation));
        }
    }

    private static async Task HandleAsync(HttpContext context, CmpServer cmp, string frontEnd, string? operation)
    {
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        response.Headers.CacheControl = "no-cache";
        if (!IsPkixCmp(request.ContentType))
        {
            await Plain(response, StatusCodes.Status415UnsupportedMediaType, $"CMP over HTTP needs Content-Type {MediaType}");
            return;
        }

        string? label = context.Request.RouteValues.TryGetValue("label", out object? l) ? l as string : null;
        if (label is not null && !cmp.IsKnownProfile(label))
        {
            await Plain(response, StatusCodes.Status404NotFound, $"no CMP profile label '{label}'");
            return;
        }

        // The size is decided before the body is buffered: by Content-Length when given, else while reading.
        int limit = cmp.Options.MaxMessageSize;
        if (request.ContentLength > limit)
        {
            await Plain(response, StatusCodes.Status413PayloadTooLarge, $"a PKIMessage may have at most {limit} bytes");
            return;
        }

        byte[]? body = await ReadBodyAsync(request, limit, context.RequestAborted);
        if (body is null)
        {
            await Plain(response, StatusCodes.Status413PayloadTooLarge, $"a PKIMessage may have at most {limit} bytes");
            return;
        }

        CmpExchangeResult result = await cmp.HandleAsync(body, new CmpRequestContext
        {
            FrontEnd = request.IsHttps ? frontEnd + "s" : frontEnd,
            ProfileLabel = label,
            OperationLabel = operation,
            Peer = context.Connection.RemoteIpAddress?.ToString(),
        }, context.RequestAborted);
        if (result.Response is not { } answer)
        {
            await Plain(response, StatusCodes.Status400BadRequest, result.Detail ?? "not a PKIMessage");
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = MediaType;
        response.ContentLength = answer.Length;
        await response.Body.WriteAsync(answer, context.RequestAborted);
    }

    private static bool IsPkixCmp(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }

        int semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        ReadOnlySpan<char> media = (semicolon < 0 ? contentType : contentType[..semicolon]).AsSpan().Trim();
        return media.Equals(MediaType, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The body, or null when it is longer than <paramref name="limit"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 4096);
        byte[] chunk = new byte[8192];
        while (true)
        {
            int read = await request.Body.ReadAsync(chunk, cancellationToken);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }
    }

    private static Task Plain(HttpResponse response, int status, string text)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(text);
    }
}
