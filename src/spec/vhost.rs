//! `vhost: shop`, or the vhost with its metadata:
//! `vhost: { name: shop, description: .., tags: [..], default_queue_type: quorum }`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::value::MapAccessDeserializer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Spanned;
use crate::vocabulary::QueueType;

/// The virtual host a topology lives in, by name, and what the spec says of
/// its metadata.
#[derive(Debug, Clone, Default)]
pub struct VhostSpec {
    /// The vhost's name, from either form.
    pub name: Spanned<String>,
    /// The long form's fields; only `name` is set for the short form.
    pub settings: VhostSettingsSpec,
}

impl VhostSpec {
    /// A vhost named and nothing more.
    pub fn named(name: Spanned<String>) -> VhostSpec {
        VhostSpec {
            name,
            settings: VhostSettingsSpec::default(),
        }
    }
}

/// The long form of `vhost:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "vhost")]
pub struct VhostSettingsSpec {
    /// The vhost's name. All files of a topology must agree.
    pub name: Spanned<String>,
    /// What the vhost is for, shown in the management UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Spanned<String>>,
    /// Tags of the vhost, as the management UI shows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Spanned<String>>>,
    /// The type the broker gives a queue declared here without one, by an
    /// application as much as by warren (RabbitMQ 3.11 and later). warren
    /// gives it to its own queues that state no type and whose file has no
    /// `defaults.queue_type`; those it declares with the type explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_queue_type: Option<Spanned<QueueType>>,
}

impl VhostSettingsSpec {
    /// Whether the long form says anything beyond the name.
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.tags.is_none() && self.default_queue_type.is_none()
    }
}

impl<'de> Deserialize<'de> for VhostSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The two forms, before the span of the whole value is known.
        enum Form {
            Name(String),
            Settings(VhostSettingsSpec),
        }
        impl<'de> Deserialize<'de> for Form {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl<'de> serde::de::Visitor<'de> for Visitor {
                    type Value = Form;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a vhost name, or a mapping with its name and settings")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Form, E> {
                        Ok(Form::Name(v.to_string()))
                    }
                    // A plain scalar is a name as it reads (`vhost: 2024`),
                    // as for every other name.
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Form, E> {
                        Ok(Form::Name(v.to_string()))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Form, E> {
                        Ok(Form::Name(v.to_string()))
                    }
                    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Form, E> {
                        Ok(Form::Name(v.to_string()))
                    }
                    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Form, E> {
                        Ok(Form::Name(v.to_string()))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<Form, A::Error> {
                        VhostSettingsSpec::deserialize(MapAccessDeserializer::new(map))
                            .map(Form::Settings)
                    }
                }
                deserializer.deserialize_any(Visitor)
            }
        }
        let whole = Spanned::<Form>::deserialize(deserializer)?;
        Ok(match whole.value {
            Form::Name(name) => VhostSpec::named(Spanned {
                value: name,
                loc: whole.loc,
            }),
            Form::Settings(settings) => VhostSpec {
                name: settings.name.clone(),
                settings,
            },
        })
    }
}

impl Serialize for VhostSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.settings.is_empty() {
            self.name.serialize(serializer)
        } else {
            let mut long = self.settings.clone();
            long.name = self.name.clone();
            long.serialize(serializer)
        }
    }
}

impl JsonSchema for VhostSpec {
    fn schema_name() -> Cow<'static, str> {
        "VhostSpec".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let long = generator.subschema_for::<VhostSettingsSpec>();
        json_schema!({
            "anyOf": [
                { "type": "string", "description": "The vhost's name." },
                long
            ]
        })
    }
}
