namespace CoapEnroll.Ca;

/// <summary>A CA certificate, key or setting cannot be used. The message is one line naming the file (if any) and the problem.</summary>
public sealed class CaConfigurationException : Exception
{
    public CaConfigurationException()
        : this(null, CaConfigurationProblem.InvalidSetting, "invalid CA configuration")
    {
    }

    public CaConfigurationException(string message)
        : this(null, CaConfigurationProblem.InvalidSetting, message)
    {
    }

    public CaConfigurationException(string message, Exception innerException)
        : this(null, CaConfigurationProblem.InvalidSetting, message, innerException)
    {
    }

    public CaConfigurationException(string? filePath, CaConfigurationProblem problem, string detail, Exception? innerException = null)
        : base(filePath is null ? detail : $"{filePath}: {detail}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
        Detail = detail;
    }

    /// <summary>The file concerned, or <see langword="null"/> for a setting.</summary>
    public string? FilePath { get; }

    /// <summary>What is wrong.</summary>
    public CaConfigurationProblem Problem { get; }

    /// <summary>The message without the file name.</summary>
    public string Detail { get; }
}
