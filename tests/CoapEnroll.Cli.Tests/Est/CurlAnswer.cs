using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>What curl got: the HTTP status (0 when curl failed before one), the response headers and body, and curl's own result.</summary>
public sealed record CurlAnswer(int Status, string Headers, string Body, string BodyFile, ProcessResult Curl)
{
    /// <summary>The value of header <paramref name="name"/>, or null.</summary>
    public string? Header(string name) =>
        Headers.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            .Select(l => l[(name.Length + 1)..].Trim()).LastOrDefault();

    public string Describe() => $"HTTP {Status}{Environment.NewLine}{Headers}{Body}{Environment.NewLine}{Curl.Describe()}";
}
