namespace CoapEnroll.Hosting;

/// <summary>HTML that is already markup (made by <see cref="AdminHtml.Fragment"/> or a constant), written as is.</summary>
internal readonly record struct AdminMarkup(string Html)
{
    public static readonly AdminMarkup Empty = new("");
}
