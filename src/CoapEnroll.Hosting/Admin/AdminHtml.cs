using System.Runtime.CompilerServices;
using System.Text;

namespace CoapEnroll.Hosting;

/// <summary>
/// An HTML document being written for the operator page. Text goes in through <see cref="Add"/>'s interpolated string, whose
/// literal parts are markup and whose every hole is HTML-encoded (<see cref="AdminHtmlHandler"/>): requesters, subjects, reasons
/// and audit details come from devices and may be chosen to be markup. Only <see cref="AdminMarkup"/> passes unencoded.
/// </summary>
internal sealed class AdminHtml
{
    internal StringBuilder Builder { get; } = new(4096);

    public void Add([InterpolatedStringHandlerArgument("")] ref AdminHtmlHandler html) => _ = html;

    /// <summary>Markup for <see cref="AdminMarkup"/> holes (the same encoding rules, into a separate buffer).</summary>
    public static AdminMarkup Fragment([InterpolatedStringHandlerArgument] ref AdminHtmlHandler html) => html.ToMarkup();

    public override string ToString() => Builder.ToString();
}
