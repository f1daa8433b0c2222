using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;

namespace CoapEnroll.Hosting;

/// <summary>
/// The interpolated string handler of <see cref="AdminHtml"/>: literals are appended as markup, holes are HTML-encoded. Only the
/// types below can be holes, so a value of another type cannot slip in unencoded through its ToString.
/// </summary>
[InterpolatedStringHandler]
internal readonly ref struct AdminHtmlHandler
{
    private readonly StringBuilder _builder;

    public AdminHtmlHandler(int literalLength, int formattedCount, AdminHtml html)
    {
        _ = formattedCount;
        _builder = html.Builder;
        _builder.EnsureCapacity(_builder.Length + literalLength);
    }

    public AdminHtmlHandler(int literalLength, int formattedCount)
    {
        _ = formattedCount;
        _builder = new StringBuilder(literalLength + 64);
    }

    public void AppendLiteral(string markup) => _builder.Append(markup);

    public void AppendFormatted(string? text) => _builder.Append(HtmlEncoder.Default.Encode(text ?? ""));

    public void AppendFormatted(long value) => _builder.Append(value.ToString(CultureInfo.InvariantCulture));

    public void AppendFormatted(DateTimeOffset value) =>
        _builder.Append(value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Append(" UTC");

    public void AppendFormatted(AdminMarkup markup) => _builder.Append(markup.Html);

    internal AdminMarkup ToMarkup() => new(_builder.ToString());
}
