namespace CoapEnroll.Ca;

/// <summary>
/// An operator decision names a request whose profile this CA's configuration does not have. Nothing was changed: the request
/// stays as it was, since a missing profile usually means that the program deciding was started with another configuration than
/// the servers that took the request (another node, or the CLI without the servers' <c>Ca:Profiles</c>).
/// </summary>
public sealed class ProfileNotConfiguredException : InvalidOperationException
{
    public ProfileNotConfiguredException()
        : this(0, string.Empty)
    {
    }

    public ProfileNotConfiguredException(string message)
        : base(message)
    {
        Profile = string.Empty;
    }

    public ProfileNotConfiguredException(string message, Exception innerException)
        : base(message, innerException)
    {
        Profile = string.Empty;
    }

    public ProfileNotConfiguredException(long requestId, string profile)
        : base($"request {requestId} asks for profile '{profile}', which this configuration does not have")
    {
        RequestId = requestId;
        Profile = profile;
    }

    /// <summary>The request the decision was about.</summary>
    public long RequestId { get; }

    /// <summary>The profile the request names.</summary>
    public string Profile { get; }
}
