//! What a call answers, as a tree the HTTP layer renders (`<Field>text</Field>`, lists as
//! `<Field><member>...</member></Field>`): the use cases never write XML.

/// A value in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Text (escaped when rendered).
    Text(String),
    /// Named fields, in order.
    Struct(Vec<(&'static str, Node)>),
    /// A list: each item is rendered as `<member>`.
    List(Vec<Node>),
}

impl Node {
    /// Text.
    pub fn text(s: impl Into<String>) -> Node {
        Node::Text(s.into())
    }

    /// `true` / `false`, as IAM writes booleans.
    pub fn bool(b: bool) -> Node {
        Node::Text(if b { "true" } else { "false" }.into())
    }
}

/// A call's result: the fields of `<ActionResult>` (empty for calls that answer only their
/// request id, such as DeleteRole).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The fields, in order.
    pub fields: Vec<(&'static str, Node)>,
}

impl Output {
    /// No result fields.
    pub fn empty() -> Output {
        Output::default()
    }

    /// Add a field.
    pub fn field(mut self, name: &'static str, value: Node) -> Output {
        self.fields.push((name, value));
        self
    }
}
