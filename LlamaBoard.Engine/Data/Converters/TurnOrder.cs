namespace LlamaBoard.Engine.Data.Converters;

/// <summary>Checks that a conversation alternates user-side and assistant-side turns.</summary>
internal static class TurnOrder
{
    /// <summary>
    /// Turn 0, 2, 4, … must be user or observation; 1, 3, 5, … assistant or function. <paramref name="offset"/> is
    /// the index of the first message in the source list (1 when a system message was taken off).
    /// </summary>
    public static void Validate(RecordFields r, IReadOnlyList<ChatMessage> messages, int offset, string? column)
    {
        if (messages.Count == 0)
            throw r.Error("the conversation has no messages after the system prompt", column);
        for (int i = 0; i < messages.Count; i++)
        {
            bool userSide = i % 2 == 0;
            var role = messages[i].Role;
            bool ok = userSide ? role is ChatRole.User or ChatRole.Observation
                               : role is ChatRole.Assistant or ChatRole.Function;
            if (!ok)
                throw r.Error($"message {i + offset} is {(role is ChatRole.Assistant or ChatRole.Observation ? "an" : "a")} {messages[i].RoleName} turn where " +
                              (userSide ? "a user or observation turn" : "an assistant or function-call turn") +
                              " was expected (turns must alternate: user, assistant, user, …)", column);
        }
    }
}
